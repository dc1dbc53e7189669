import pytest


@pytest.fixture(scope="module")
def server():
    """The app served on a free port (CPU backend), one per test module: its URL."""
    from app.launch import running_app
    with running_app(backend="cpu") as url:
        yield url
