"""Representation drift: what changed inside a model, layer by layer (`scai repr-diff A B`)."""
