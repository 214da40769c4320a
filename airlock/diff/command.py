class DiffInputError(Exception):
    """Bad refs, arguments, or a stack missing at a ref."""
