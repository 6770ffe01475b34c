from rag.cli import main

if __name__ == "__main__":  # embedding workers are spawned: they import this module again
    main()
