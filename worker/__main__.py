"""`python -m worker` runs the armswatch command line."""

from .cli import main

main()
