"""The network model: a spec instantiated as plain arrays (neurons, propagators, drives,
the connectome), which every backend loads. Knows nothing of backends or the lifecycle."""
