"""``airlock cost``: a stack's monthly cost from its synthesized bundle, and where local
models break even with cloud APIs. Reads bundles, never stack config internals."""
