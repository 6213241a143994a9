"""A local stand-in for the lemlist API, over real HTTP: for the demo, the tests and the benchmarks."""

from .app import create_app
from .config import Faults, SandboxConfig
from .sandbox import Sandbox
from .seed import DEMO_KEY, OTHER_KEY
from .server import SandboxServer, connection_json, free_port

__all__ = [
    "DEMO_KEY",
    "OTHER_KEY",
    "Faults",
    "Sandbox",
    "SandboxConfig",
    "SandboxServer",
    "connection_json",
    "create_app",
    "free_port",
]
