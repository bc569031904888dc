"""`python -m tests.hostile`: run the hostile corpus and print each case's figures."""

from .corpus import main

main()
