"""tools/gpu_libs.py: the ELF reader, the library check, the preload hook and the fatbin reader.

The fabricated cases build small shared libraries with gcc, named and laid out as the nvidia
wheels lay out theirs, so the failure paths run in `make test` without the 3 GB GPU install; the
last tests check the real GPU environment when `make gpu` has built it.
"""
import ast
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location('gpu_libs', ROOT / 'tools' / 'gpu_libs.py')
gpu_libs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_libs)

needs_gcc = pytest.mark.skipif(shutil.which('gcc') is None, reason='needs gcc to build test ELFs')
GPU_PYTHON = ROOT / '.venv-gpu' / 'bin' / 'python'


def build(path, soname, needs=(), link_dirs=(), rpath=None):
    """A shared library at ``path`` with SONAME ``soname`` and DT_NEEDED ``needs`` (found at link
    time in ``link_dirs``, in that order)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    src = path.with_name(path.name.replace('.', '_') + '.c')
    src.write_text('int %s(void) { return 1; }\n' % re.sub(r'\W', '_', soname))
    cmd = ['gcc', '-shared', '-fPIC', '-o', str(path), str(src), '-Wl,-soname,' + soname,
           '-Wl,--no-as-needed']
    cmd += ['-L%s' % d for d in link_dirs] + ['-l:%s' % n for n in needs]
    if rpath:
        cmd.append('-Wl,-rpath,' + rpath)
    subprocess.run(cmd, check=True, capture_output=True)
    src.unlink()
    return path


def readelf_needed(path):
    out = subprocess.run(['readelf', '-d', str(path)], capture_output=True, text=True,
                         check=True).stdout
    return re.findall(r'\(NEEDED\)\s+Shared library: \[(.+?)\]', out)


@pytest.fixture
def fake_site(tmp_path):
    """site/nvidia/{cuda_runtime,cublas}/lib and site/mxnet/libmxnet.so needing them, plus the
    driver's libcuda.so.1 and libcudnn.so.8, which exist only at link time."""
    site = tmp_path / 'site'
    linkonly = tmp_path / 'linkonly'
    cudart = site / 'nvidia' / 'cuda_runtime' / 'lib'
    cublas = site / 'nvidia' / 'cublas' / 'lib'
    build(cudart / 'libcudart.so.11.0', 'libcudart.so.11.0')
    build(cublas / 'libcublasLt.so.11', 'libcublasLt.so.11')
    build(cublas / 'libcublas.so.11', 'libcublas.so.11', ['libcublasLt.so.11'], [cublas],
          rpath='$ORIGIN')
    build(linkonly / 'libcuda.so.1', 'libcuda.so.1')
    build(linkonly / 'libcudnn.so.8', 'libcudnn.so.8')
    return site, linkonly


def fake_libmxnet(site, linkonly, needs):
    dirs = [site / 'nvidia' / 'cuda_runtime' / 'lib', site / 'nvidia' / 'cublas' / 'lib', linkonly]
    return build(site / 'mxnet' / 'libmxnet.so', 'libmxnet.so', needs, dirs)


def run_check(lib, site, load=True):
    lines = []
    status = gpu_libs.check(str(lib), gpu_libs.wheel_lib_dirs([str(site)]),
                            gpu_libs.system_libraries(), load=load, out=lines.append)
    return status, lines


def test_needed_entries_match_readelf():
    import mxnet
    libs = [Path(mxnet.__file__).parent / 'libmxnet.so', Path(sys.executable).resolve()]
    libs += [Path(p) for p in gpu_libs.system_libraries().values() if 'libstdc++.so' in p][:1]
    for lib in libs:
        assert gpu_libs.read_needed(lib) == readelf_needed(lib), lib


def test_not_an_elf_file(tmp_path):
    (tmp_path / 'x.so').write_bytes(b'#!/bin/sh\n')
    with pytest.raises(gpu_libs.ELFError, match='x.so: not an ELF file'):
        gpu_libs.read_needed(tmp_path / 'x.so')
    (tmp_path / 'y.so').write_bytes(b'\x7fELF\x02\x01\x01' + b'\0' * 20)
    with pytest.raises(gpu_libs.ELFError, match='y.so: truncated ELF file'):
        gpu_libs.read_needed(tmp_path / 'y.so')


@needs_gcc
def test_check_passes_with_every_library_but_the_driver(fake_site):
    site, linkonly = fake_site
    lib = fake_libmxnet(site, linkonly, ['libcudart.so.11.0', 'libcublas.so.11', 'libcuda.so.1'])
    assert gpu_libs.read_needed(lib) == readelf_needed(lib)
    status, lines = run_check(lib, site)
    assert status == 0, lines
    rows = {line.split()[0]: line.split()[1] for line in lines[1:] if line.startswith('  ')}
    assert rows['libcudart.so.11.0'] == rows['libcublas.so.11'] == 'wheel'
    assert rows['libcublasLt.so.11'] == 'wheel'  # needed by libcublas.so.11, found recursively
    assert rows['libcuda.so.1'] == 'driver' and rows['libc.so.6'] == 'system'
    assert 'loaded 3 wheel libraries' in lines[-2]
    assert lines[-1].startswith('OK: every library libmxnet.so needs resolves')
    order = gpu_libs.Resolution(lib, gpu_libs.wheel_lib_dirs([str(site)])).load_order
    names = [os.path.basename(p) for p in order]
    assert sorted(names) == ['libcublas.so.11', 'libcublasLt.so.11', 'libcudart.so.11.0']
    assert names.index('libcublasLt.so.11') < names.index('libcublas.so.11')


@needs_gcc
def test_check_fails_naming_the_missing_library(fake_site):
    site, linkonly = fake_site
    lib = fake_libmxnet(site, linkonly, ['libcudart.so.11.0', 'libcudnn.so.8', 'libcuda.so.1'])
    status, lines = run_check(lib, site)
    assert status == 1
    assert any(re.match(r'  libcudnn\.so\.8 +missing +MISSING \(install nvidia-cudnn-cu11\)', l)
               for l in lines), lines
    assert lines[-1] == "error: 1 missing: libcudnn.so.8 (needed by libmxnet.so)"


@needs_gcc
def test_check_follows_the_wheel_libraries_own_needs(fake_site):
    site, linkonly = fake_site
    lib = fake_libmxnet(site, linkonly, ['libcudart.so.11.0', 'libcublas.so.11'])
    (site / 'nvidia' / 'cublas' / 'lib' / 'libcublasLt.so.11').unlink()
    status, lines = run_check(lib, site)
    assert status == 1
    assert lines[-1] == 'error: 1 missing: libcublasLt.so.11 (needed by libcublas.so.11)'


def test_the_cpu_build_is_refused():
    import mxnet
    if gpu_libs.Resolution(Path(mxnet.__file__).parent / 'libmxnet.so', []).cuda_build():
        pytest.skip('this mxnet is a CUDA build')
    status, lines = run_check(Path(mxnet.__file__).parent / 'libmxnet.so', '/nonexistent')
    assert status == 1 and 'it is the CPU build' in lines[-1]


@needs_gcc
def test_the_hook_lets_plain_python_import_mxnet(fake_site, tmp_path):
    """A real virtualenv whose site-packages holds the fake nvidia wheels and a fake mxnet that
    loads its libmxnet.so as mxnet does: `python -c "import mxnet"` works with the hook
    installed, and fails naming the library without it."""
    site, linkonly = fake_site
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True)
    python = venv / 'bin' / 'python'
    packages = Path(subprocess.run([str(python), '-c', 'import sysconfig; '
                                    'print(sysconfig.get_paths()["purelib"])'],
                                   capture_output=True, text=True, check=True).stdout.strip())
    shutil.copytree(site / 'nvidia', packages / 'nvidia')
    fake_libmxnet(packages, linkonly, ['libcudart.so.11.0', 'libcublas.so.11'])
    (packages / 'mxnet' / '__init__.py').write_text(
        'import ctypes, os\n'
        '_LIB = ctypes.CDLL(os.path.join(os.path.dirname(__file__), "libmxnet.so"), '
        'ctypes.RTLD_LOCAL)\n')
    env = {k: v for k, v in os.environ.items() if k not in ('LD_LIBRARY_PATH', 'PYTHONPATH')}

    def python_c(code, **extra):
        return subprocess.run([str(python), '-c', code], capture_output=True, text=True,
                              env=dict(env, **extra))

    without = python_c('import mxnet')
    assert without.returncode != 0
    assert 'libcudart.so.11.0: cannot open shared object file' in without.stderr
    installed = subprocess.run([str(python), str(ROOT / 'tools' / 'gpu_libs.py'), 'install-hook'],
                               capture_output=True, text=True, check=True)
    assert (packages / 'gluon_notes_cuda_preload.pth').is_file(), installed.stdout
    result = python_c('import os, mxnet, gluon_notes_cuda_preload as h; '
                      'print([os.path.basename(p) for p in h.PRELOADED])')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['libcudart.so.11.0', 'libcublasLt.so.11', 'libcublas.so.11']"
    # Until something imports mxnet, the hook loads nothing.
    idle = python_c('import gluon_notes_cuda_preload as h, sys; print(h.PRELOADED, '
                    '"mxnet" in sys.modules, "cublas" in open("/proc/self/maps").read())')
    assert idle.stdout.strip() == '[] False False'
    off = python_c('import mxnet', GLUON_NOTES_CUDA_PRELOAD='0')
    assert off.returncode != 0 and 'libcudart.so.11.0' in off.stderr


def fatbin(entries):
    """A fatbin container holding ``entries`` of (kind, arch) with 8-byte payloads."""
    body = b''
    for kind, arch in entries:
        header = struct.pack('<HHIQIIII', kind, 0x0101, 64, 8, 8, 0, 0, arch).ljust(64, b'\0')
        body += header + b'\0' * 8
    return struct.pack('<IHHQ', 0xBA55ED50, 1, 16, len(body)) + body


@needs_gcc
def test_fatbin_archs(tmp_path):
    lib = build(tmp_path / 'libk.so', 'libk.so')
    assert gpu_libs.fatbin_archs(lib) == {'sass': {}, 'ptx': {}}
    blob = tmp_path / 'fatbin.bin'
    # two containers with padding between them, as nvcc links one per object file
    blob.write_bytes(fatbin([(2, 52), (2, 86)]) + b'\0' * 8 + fatbin([(2, 86), (1, 86)]))
    subprocess.run(['objcopy', '--add-section', '.nv_fatbin=%s' % blob, str(lib)], check=True)
    found = gpu_libs.fatbin_archs(lib)
    assert found == {'sass': {52: 1, 86: 2}, 'ptx': {86: 1}}
    assert gpu_libs.describe_archs(found) == 'SASS sm_52 sm_86; PTX compute_86'


def test_requirements_gpu_is_setup_py_with_the_cuda_build():
    tree = ast.parse((ROOT / 'setup.py').read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call)
                and getattr(n.func, 'id', None) == 'setup')
    install = ast.literal_eval(next(k.value for k in call.keywords if k.arg == 'install_requires'))
    pins = [line.split('#')[0].strip() for line in
            (ROOT / 'requirements-gpu.txt').read_text().splitlines()]
    pins = [p for p in pins if p]
    mxnet_pin = next(r for r in install if r.startswith('mxnet'))
    assert mxnet_pin.replace('mxnet', 'mxnet-cu117', 1) in pins
    for requirement in install:
        if requirement is not mxnet_pin:
            assert requirement in pins, requirement
    packages = {p.split('==')[0] for p in pins}
    for _, wheel in gpu_libs.WHEELS:
        assert wheel in packages, wheel


gpu_env = pytest.mark.skipif(not GPU_PYTHON.exists(),
                             reason='the GPU environment .venv-gpu is not built (make gpu)')


@gpu_env
def test_the_gpu_environment_resolves_every_library():
    result = subprocess.run([str(GPU_PYTHON), str(ROOT / 'tools' / 'gpu_libs.py'), 'check'],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()
            if line.startswith('  ')}
    for name in ('libcudart.so.11.0', 'libcublas.so.11', 'libcudnn.so.8', 'libnccl.so.2',
                 'libcufft.so.10', 'libcurand.so.10', 'libcusolver.so.11', 'libcusparse.so.11',
                 'libnvrtc.so.11.2', 'libnvToolsExt.so.1'):
        assert rows[name] == 'wheel', name
    assert rows['libcuda.so.1'] == 'driver'


@gpu_env
def test_the_gpu_environment_imports_mxnet_up_to_the_driver():
    has_driver = 'libcuda.so.1' in gpu_libs.system_libraries()
    env = {k: v for k, v in os.environ.items() if k != 'LD_LIBRARY_PATH'}
    result = subprocess.run([str(GPU_PYTHON), '-c', 'import mxnet; print(mxnet.__version__)'],
                            capture_output=True, text=True, env=env, timeout=600)
    if has_driver:
        assert result.returncode == 0, result.stderr
    else:
        # The only library the loader cannot find is the driver's.
        assert 'libcuda.so.1: cannot open shared object file' in result.stderr, result.stderr
        assert len(re.findall(r'(\S+): cannot open shared object file', result.stderr)) == 1


@gpu_env
def test_the_gpu_build_carries_the_archs_the_readme_lists():
    lib = subprocess.run([str(GPU_PYTHON), str(ROOT / 'tools' / 'gpu_libs.py'), 'archs'],
                         capture_output=True, text=True, timeout=600)
    assert lib.returncode == 0, lib.stderr
    assert lib.stdout.strip().endswith('SASS sm_50 sm_60 sm_70 sm_80 sm_86; PTX none')
    assert 'SASS sm_50 sm_60 sm_70 sm_80 sm_86; PTX none' in (ROOT / 'README.md').read_text()


# A stand-in for the NVIDIA driver's libcuda.so.1, to run the GPU environment past the driver on a
# machine without one: the symbols libmxnet.so imports from it, each failing. With DEVICES 0 it
# is a driver that sees no GPU; with DEVICES 1 it claims a GPU and then fails every call, so
# that MXNet's own check fails while counting the GPUs.
STUB_DRIVER = r'''
#define FAIL 100
int cuInit(unsigned int flags) { return DEVICES ? 0 : FAIL; }
int cuDriverGetVersion(int *v) { *v = 11080; return 0; }
int cuDeviceGetCount(int *n) { *n = DEVICES; return DEVICES ? 0 : FAIL; }
int cuGetProcAddress(const char *s, void **p, int v, unsigned long long f) { *p = 0; return 500; }
int cuGetErrorString(int e, const char **s) { *s = "stub driver"; return 0; }
int cuDeviceGet(void) { return FAIL; }
int cuDevicePrimaryCtxRetain(void) { return FAIL; }
int cuGraphKernelNodeGetParams(void) { return FAIL; }
int cuGraphNodeGetType(void) { return FAIL; }
int cuLaunchKernel(void) { return FAIL; }
int cuModuleGetFunction(void) { return FAIL; }
int cuModuleLoadData(void) { return FAIL; }
int cuModuleLoadDataEx(void) { return FAIL; }
int cuModuleUnload(void) { return FAIL; }
'''


def stub_driver(directory, devices):
    directory.mkdir()
    src = directory / 'stub.c'
    src.write_text('#define DEVICES %d\n' % devices + STUB_DRIVER)
    subprocess.run(['gcc', '-shared', '-fPIC', '-o', str(directory / 'libcuda.so.1'), str(src),
                    '-Wl,-soname,libcuda.so.1'], check=True)
    return dict({k: v for k, v in os.environ.items() if k != 'PYTHONPATH'},
                LD_LIBRARY_PATH=str(directory))


def gpu_venv(*args, env):
    return subprocess.run([str(GPU_PYTHON), *args], capture_output=True, text=True, env=env,
                          timeout=900, cwd=str(ROOT))


@gpu_env
@needs_gcc
def test_the_gpu_environment_past_a_driver_without_gpus(tmp_path):
    if 'libcuda.so.1' in gpu_libs.system_libraries():
        pytest.skip('a real NVIDIA driver is installed')
    env = stub_driver(tmp_path / 'driver', devices=0)
    result = gpu_venv('-m', 'gluon_notes.cli', 'doctor', env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'CUDA yes, CUDNN yes, NCCL yes' in result.stdout
    assert re.search(r'ok +cuda libs +11 preloaded from the nvidia wheels', result.stdout)
    assert re.search(r'gpus +none visible to MXNet\n', result.stdout)
    assert result.stdout.splitlines()[-1] == 'training can run on cpu(0)'


@gpu_env
@needs_gcc
def test_the_gpu_environment_with_a_driver_that_fails(tmp_path):
    if 'libcuda.so.1' in gpu_libs.system_libraries():
        pytest.skip('a real NVIDIA driver is installed')
    env = stub_driver(tmp_path / 'driver', devices=1)
    reason = ('CUDA: Check failed: e == cudaSuccess (36 vs. 0) : API call is not supported in '
              'the installed CUDA driver')
    train = gpu_venv('-m', 'gluon_notes.cli', 'train', 'lenet', '--ctx', 'gpu', '--epochs', '1',
                     '--subset', '64', env=env)
    assert train.returncode == 2
    assert "gluon-notes: error: context 'gpu': MXNet cannot use the GPUs: " + reason in train.stderr
    fallback = gpu_venv('-c', 'import gluon_notes as gn; print(gn.try_gpu())', env=env)
    assert fallback.stdout.strip() == 'cpu(0)'
    assert 'gluon-notes: MXNet cannot use the GPUs (%s); using cpu(0)' % reason in fallback.stderr
