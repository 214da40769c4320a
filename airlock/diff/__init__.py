"""``airlock diff``: what a change between two git refs does to the stack, classified."""
