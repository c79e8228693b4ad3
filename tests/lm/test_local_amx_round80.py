"""The embedded model on a CPU with AMX: llama.cpp built for it (pip's native build) put the weights in its AMX
buffer and the process died of a segmentation fault at the first prompt longer than one token (SmolLM2, 0.3.36,
on a Xeon with amx_int8; llama.cpp issue 20824). Such a build loads the model without extra buffer types."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from rlmx.lm import local


def _fake_llama_cpp(system_info: bytes) -> Any:
    def default_params() -> Any:
        return SimpleNamespace(use_extra_bufts=True, n_gpu_layers=0)

    inner = SimpleNamespace(llama_model_default_params=default_params)
    return SimpleNamespace(llama_print_system_info=lambda: system_info, llama=SimpleNamespace(llama_cpp=inner))


def test_a_build_with_amx_loads_without_extra_buffer_types_and_puts_the_defaults_back() -> None:
    fake = _fake_llama_cpp(b"CPU : AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | REPACK = 1 |")
    module = fake.llama.llama_cpp
    original = module.llama_model_default_params
    with local._plain_cpu_buffers_where_amx(fake):
        assert module.llama_model_default_params().use_extra_bufts is False
    assert module.llama_model_default_params is original
    assert original().use_extra_bufts is True


@pytest.mark.parametrize("info", [b"CPU : AVX2 = 1 | AVX512 = 1 | REPACK = 1 |", b"CPU : AMX_INT8 = 0 |"])
def test_a_build_without_amx_keeps_llama_cpps_buffers(info: bytes) -> None:
    fake = _fake_llama_cpp(info)
    with local._plain_cpu_buffers_where_amx(fake):
        assert fake.llama.llama_cpp.llama_model_default_params().use_extra_bufts is True


def test_the_installed_llama_cpp_has_the_parameter_the_guard_sets() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    assert hasattr(llama_cpp.llama.llama_cpp.llama_model_default_params(), "use_extra_bufts")
