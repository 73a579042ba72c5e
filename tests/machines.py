"""Simulating other machines on this one (issue 14): environments under which a fresh process uses other
SIMD kernels, other BLAS thread counts and other compiled code than the default one."""
from __future__ import annotations


def _dispatched_cpu_features() -> list[str]:
    """numpy's run-time SIMD targets above its build baseline that this CPU has, lowest first
    (e.g. X86_V3, X86_V4, AVX512_ICL on an AVX-512 machine; none on a baseline-only CPU)."""
    from numpy._core import _multiarray_umath as umath  # numpy's own tests read these too

    return [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)]


def machine_variants() -> dict[str, dict[str, str]]:
    """Environments that make this process behave like other machines: numpy's SIMD kernels limited
    to the build baseline or to the lowest run-time target (AVX2 on an AVX-512 x86 CPU), and OpenBLAS
    at 1 and 2 threads. OPENBLAS_CORETYPE is left as the machine sets it (older OpenBLAS builds crash with foreign core
    types on some CPUs)."""
    found = _dispatched_cpu_features()
    return {
        "baseline SIMD, 1 BLAS thread": {"NPY_DISABLE_CPU_FEATURES": " ".join(found),
                                         "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
        "lowest SIMD target, 2 BLAS threads": {"NPY_DISABLE_CPU_FEATURES": " ".join(found[1:]),
                                               "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"},
    }


def other_machine_for_fits() -> dict[str, str]:
    """The baseline-SIMD, one-thread variant, with the models' numba code compiled for a generic CPU of
    this architecture (no AVX on x86) instead of this one."""
    return {**machine_variants()["baseline SIMD, 1 BLAS thread"], "NUMBA_CPU_NAME": "generic"}
