"""The ``tumorseg`` command line (typer). One module per command; ``main.py`` wires them."""
