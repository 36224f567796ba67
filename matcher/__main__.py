from matcher.entry import main

if __name__ == "__main__":  # worker processes (spawned) import this module too: they must not run the CLI
    main()
