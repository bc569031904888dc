"""`python -m remedy` works the same as the `remedy` command."""

from remedy.cli import main

if __name__ == "__main__":
    main()
