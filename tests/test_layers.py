"""The package's structure: no module imports itself back through others (no import circle);
the layers contract itself is checked by ``lint-imports`` (``.ci/run``)."""

from __future__ import annotations

import pytest

grimp = pytest.importorskip("grimp")


def test_no_module_is_part_of_an_import_circle():
    graph = grimp.build_graph("chromaprior")
    circles = [(a, b) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
               if graph.chain_exists(importer=b, imported=a)]
    assert circles == []


def test_the_core_imports_no_network_and_the_networks_no_method():
    graph = grimp.build_graph("chromaprior")
    for low, high in [("chromaprior.core", "chromaprior.nets"), ("chromaprior.nets", "chromaprior.models"),
                      ("chromaprior.models", "chromaprior.methods"), ("chromaprior.methods", "chromaprior.training"),
                      ("chromaprior.training", "chromaprior.methods"), ("chromaprior.methods", "chromaprior.apps")]:
        assert not graph.chain_exists(importer=low, imported=high, as_packages=True), (low, high)
