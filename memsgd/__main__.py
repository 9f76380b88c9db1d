"""``python -m memsgd`` runs the command-line interface."""

from memsgd.cli import main

if __name__ == "__main__":
    main()
