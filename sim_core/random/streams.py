"""Purposes of random streams; a stream id is ``purpose << 24 | index`` so that every
random number in a run is keyed on (seed, purpose, population/projection, ...)."""
CONNECT, WEIGHT, DELAY, PARAM, INITIAL, POSITION, POISSON, REWIRE, SPOT = range(1, 10)


def stream(purpose: int, index: int) -> int:
    if not 0 <= index < (1 << 24):
        raise ValueError("stream index out of range")
    return (purpose << 24) | index
