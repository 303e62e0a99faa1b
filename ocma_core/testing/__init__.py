"""Tools for testing OCMA and its plugins: loopback fake servers and the platform conformance kit.

Plugin authors subclass `ocma_core.testing.conformance.PlatformConformance` and point it at their fake
(built on `FakeServer`). Nothing here is imported by the product at run time.
"""

from ocma_core.testing.fakeserver import FakeRequest, FakeResponse, FakeServer

__all__ = ["FakeRequest", "FakeResponse", "FakeServer"]
