"""The perk catalog: schema, loading, versioned refresh and its FAISS index.

A leaf package: it never imports ``matcher``. The text encoder is passed in.
"""

from catalog.errors import CatalogError, InputFileError, Problem

__all__ = ["CatalogError", "InputFileError", "Problem"]
