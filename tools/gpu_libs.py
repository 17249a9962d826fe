"""The CUDA libraries of the GPU environment (``make gpu``): check, preload, and list GPU archs.

The CUDA builds of MXNet 1.9.1 do not bundle CUDA: ``libmxnet.so`` needs ``libcudart.so.11.0``,
``libcudnn.so.8`` and eight more, which the ``nvidia-*-cu11`` wheels install under
``site-packages/nvidia/*/lib``, a directory the dynamic loader does not search. This file:

* ``check``: reads the ``DT_NEEDED`` entries of the installed ``libmxnet.so`` (a small ELF reader,
  no ``ldd``: ``ldd`` stops at the first missing library, and ``libcuda.so.1`` is always missing on
  a machine without the NVIDIA driver), resolves each name, recursively for the wheels' own
  libraries, against the wheel directories, the library's own RPATH/RUNPATH and the system, then
  loads the wheel libraries as importing mxnet will. It exits 1 naming every missing library;
  ``libcuda.so.1`` alone may be missing, since only the driver provides it.
* ``install-hook``: copies this file into site-packages as ``gluon_notes_cuda_preload.py`` with a
  ``.pth`` file that installs an import hook at interpreter start. The hook costs nothing until
  something imports ``mxnet``; then, before ``libmxnet.so`` is loaded, it loads the wheel libraries
  that ``libmxnet.so`` needs (``ctypes.CDLL`` with ``RTLD_GLOBAL``, dependencies first), so the
  loader finds them already loaded. ``gluon-notes``, ``python``, a Jupyter kernel: whichever
  imports mxnet first. No ``LD_LIBRARY_PATH``, and the installed mxnet is not modified.
  ``GLUON_NOTES_CUDA_PRELOAD=0`` turns the hook off.
* ``archs``: the GPU architectures whose machine code (SASS) and PTX a library's ``.nv_fatbin``
  section carries, read from the fatbinary headers.

It imports only the standard library, and never the ``gluon_notes`` package (which imports mxnet,
which cannot be imported before the libraries are found): run it as
``.venv-gpu/bin/python tools/gpu_libs.py check``.
"""
import argparse
import ctypes
import glob
import importlib.abc
import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import sysconfig

# Only the NVIDIA driver provides these; everything else must come from a wheel or the system.
DRIVER_LIBS = ('libcuda.so.1',)

# The wheel that provides each CUDA library libmxnet.so (or one of them) needs, by name prefix.
WHEELS = (
    ('libcudart.so.', 'nvidia-cuda-runtime-cu11'),
    ('libcublasLt.so.', 'nvidia-cublas-cu11'),
    ('libcublas.so.', 'nvidia-cublas-cu11'),
    ('libcudnn', 'nvidia-cudnn-cu11'),
    ('libnccl.so.', 'nvidia-nccl-cu11'),
    ('libcufft.so.', 'nvidia-cufft-cu11'),
    ('libcurand.so.', 'nvidia-curand-cu11'),
    ('libcusolver.so.', 'nvidia-cusolver-cu11'),
    ('libcusparse.so.', 'nvidia-cusparse-cu11'),
    ('libnvrtc', 'nvidia-cuda-nvrtc-cu11'),
    ('libnvToolsExt.so.', 'nvidia-nvtx-cu11'),
)

# Libraries that a wheel library dlopen()s by name (so DT_NEEDED does not show them); they are
# found through the opener's RUNPATH ($ORIGIN) and are checked, not preloaded.
DLOPENED = {
    'libcudnn.so.8': 'libcudnn_*.so.8',
    'libnvrtc.so.11.2': 'libnvrtc-builtins.so.*',
}

HOOK_MODULE = 'gluon_notes_cuda_preload'
DISABLE_ENV = 'GLUON_NOTES_CUDA_PRELOAD'

_PT_LOAD, _PT_DYNAMIC = 1, 2
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_SONAME, _DT_RPATH, _DT_RUNPATH = 0, 1, 5, 14, 15, 29
_FATBIN_MAGIC = 0xBA55ED50
_FATBIN_PTX, _FATBIN_SASS = 1, 2


class ELFError(ValueError):
    """A file that is not a readable ELF shared object."""


def wheel_for(name):
    """The pip package that provides the CUDA library ``name``, or None."""
    for prefix, package in WHEELS:
        if name.startswith(prefix):
            return package
    return None


class ELFFile:
    """The dynamic section and section headers of an ELF file, read with a few seeks."""

    def __init__(self, path):
        self.path = str(path)
        try:
            with open(self.path, 'rb') as f:
                ident = f.read(64)
                if len(ident) < 16 or ident[:4] != b'\x7fELF':
                    raise ELFError('%s: not an ELF file' % self.path)
                if ident[4] not in (1, 2) or ident[5] not in (1, 2):
                    raise ELFError('%s: unknown ELF class %d / data encoding %d'
                                   % (self.path, ident[4], ident[5]))
                self.is64 = ident[4] == 2
                self.end = '<' if ident[5] == 1 else '>'
                self._read_headers(f, ident)
                self._read_dynamic(f)
        except OSError as e:
            raise ELFError('%s: cannot read (%s)' % (self.path, e.strerror or e)) from None
        except struct.error:
            raise ELFError('%s: truncated ELF file' % self.path) from None

    def _unpack(self, fmt, data, offset=0):
        return struct.unpack_from(self.end + fmt, data, offset)

    def _read_headers(self, f, ident):
        if self.is64:
            (self.phoff, self.shoff, _, _, self.phentsize, self.phnum, self.shentsize,
             self.shnum, self.shstrndx) = self._unpack('QQIHHHHHH', ident, 32)
        else:
            (self.phoff, self.shoff, _, _, self.phentsize, self.phnum, self.shentsize,
             self.shnum, self.shstrndx) = self._unpack('IIIHHHHHH', ident, 28)
        self.segments = []  # (type, offset, vaddr, filesz)
        f.seek(self.phoff)
        table = f.read(self.phentsize * self.phnum)
        for i in range(self.phnum):
            at = i * self.phentsize
            if self.is64:
                p_type, _, p_offset, p_vaddr, _, p_filesz = self._unpack('IIQQQQ', table, at)
            else:
                p_type, p_offset, p_vaddr, _, p_filesz = self._unpack('IIIII', table, at)
            self.segments.append((p_type, p_offset, p_vaddr, p_filesz))

    def _file_offset(self, vaddr):
        for p_type, offset, start, size in self.segments:
            if p_type == _PT_LOAD and start <= vaddr < start + size:
                return offset + vaddr - start
        raise ELFError('%s: address 0x%x is outside every loaded segment' % (self.path, vaddr))

    def _read_dynamic(self, f):
        self.needed, self.soname, self.rpath, self.runpath = [], None, [], []
        dynamic = [s for s in self.segments if s[0] == _PT_DYNAMIC]
        if not dynamic:
            return  # a static executable or an object file: it needs nothing
        _, offset, _, size = dynamic[0]
        f.seek(offset)
        data = f.read(size)
        entry = 16 if self.is64 else 8
        entries = []
        for at in range(0, len(data) - entry + 1, entry):
            tag, value = self._unpack('qQ' if self.is64 else 'iI', data, at)
            if tag == _DT_NULL:
                break
            entries.append((tag, value))
        strtab = [v for t, v in entries if t == _DT_STRTAB]
        if not strtab:
            raise ELFError('%s: dynamic section without a string table' % self.path)
        base = self._file_offset(strtab[0])

        def string(index):
            f.seek(base + index)
            raw = b''
            while b'\0' not in raw:
                chunk = f.read(256)
                if not chunk:
                    raise ELFError('%s: unterminated string in the dynamic string table'
                                   % self.path)
                raw += chunk
            return raw.split(b'\0', 1)[0].decode('utf-8', 'replace')

        for tag, value in entries:
            if tag == _DT_NEEDED:
                self.needed.append(string(value))
            elif tag == _DT_SONAME:
                self.soname = string(value)
            elif tag in (_DT_RPATH, _DT_RUNPATH):
                (self.rpath if tag == _DT_RPATH else self.runpath).extend(
                    p for p in string(value).split(':') if p)

    def search_dirs(self):
        """RUNPATH (or, without one, RPATH) with ``$ORIGIN`` expanded."""
        origin = os.path.dirname(os.path.abspath(self.path))
        return [p.replace('${ORIGIN}', origin).replace('$ORIGIN', origin)
                for p in (self.runpath or self.rpath)]

    def section(self, name):
        """``(offset, size)`` in the file of the section ``name``, or None."""
        if not self.shoff or not self.shnum:
            return None
        with open(self.path, 'rb') as f:
            f.seek(self.shoff)
            table = f.read(self.shentsize * self.shnum)
            headers = []
            for i in range(self.shnum):
                at = i * self.shentsize
                if self.is64:
                    sh_name, _, _, _, sh_offset, sh_size = self._unpack('IIQQQQ', table, at)
                else:
                    sh_name, _, _, _, sh_offset, sh_size = self._unpack('IIIIII', table, at)
                headers.append((sh_name, sh_offset, sh_size))
            names_offset, names_size = headers[self.shstrndx][1:]
            f.seek(names_offset)
            names = f.read(names_size)
        for sh_name, sh_offset, sh_size in headers:
            if names[sh_name:names.index(b'\0', sh_name)].decode() == name:
                return sh_offset, sh_size
        return None


def read_needed(path):
    """The ``DT_NEEDED`` names of the ELF file ``path``, in order."""
    return ELFFile(path).needed


def wheel_lib_dirs(paths=None):
    """The ``nvidia/*/lib`` directories of the nvidia wheels under the ``paths`` (default
    ``sys.path``), in path order."""
    dirs = []
    for entry in (sys.path if paths is None else paths):
        for d in sorted(glob.glob(os.path.join(entry or '.', 'nvidia', '*', 'lib'))):
            d = os.path.realpath(d)
            if os.path.isdir(d) and d not in dirs:
                dirs.append(d)
    return dirs


def system_libraries():
    """``{name: path}`` of the dynamic loader's cache (``ldconfig -p``), 64-bit x86 entries, plus
    the standard directories as a fall-back for systems without ldconfig."""
    found = {}
    try:
        out = subprocess.run(['ldconfig', '-p'], capture_output=True, text=True,
                             check=False).stdout
    except OSError:
        out = ''
    for line in out.splitlines():
        name, sep, path = line.strip().partition(' => ')
        if sep and 'x86-64' in name:
            found.setdefault(name.split(' (', 1)[0], path.strip())
    for d in ('/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64',
              '/lib', '/usr/lib'):
        if os.path.isdir(d):
            for name in os.listdir(d):
                if '.so' in name:
                    found.setdefault(name, os.path.join(d, name))
    return found


class Resolution:
    """Where each library needed by ``root``, recursively, resolves: ``rows`` are
    ``(name, needed_by, kind, path)`` with kind one of ``wheel`` (a file of an installed wheel:
    an nvidia wheel directory or the library's own RPATH, as libmxnet.so's bundled OpenBLAS),
    ``system``, ``driver`` (the driver's library: found or not, never a failure) or ``missing``.
    ``load_order`` lists the nvidia-wheel libraries, dependencies first."""

    def __init__(self, root, wheel_dirs, system=None, follow_dlopen=True):
        self.root = os.path.abspath(root)
        self.wheel_dirs = [os.path.realpath(d) for d in wheel_dirs]
        self.system = {} if system is None else system
        self.rows, self.load_order = [], []
        self._done, self.visited = {}, []
        top = ELFFile(self.root)
        self.needed = top.needed
        # DT_NEEDED first: the load order is what the loader itself would need, no more.
        self._visit(top, top.needed, (), True)
        if follow_dlopen:
            self._visit_dlopened()

    def _find(self, name, elf):
        for d in elf.search_dirs():
            path = os.path.join(d, name)
            if os.path.isfile(path):
                in_wheel = any(os.path.realpath(d) == w for w in self.wheel_dirs)
                return ('wheel', path, in_wheel)
        for d in self.wheel_dirs:
            path = os.path.join(d, name)
            if os.path.isfile(path):
                return ('wheel', path, True)
        if name in self.system and wheel_for(name) is None:
            return ('system', self.system[name], False)
        if name in DRIVER_LIBS:
            return ('driver', self.system.get(name), False)
        return ('missing', self.system.get(name), False)

    def _visit(self, elf, names, chain, preload_ok, how='needed by'):
        base = '%s %s' % (how, os.path.basename(elf.path))
        for name in names:
            if name in self._done:
                continue
            kind, path, in_wheel = self._find(name, elf)
            self._done[name] = kind
            self.rows.append((name, base, kind, path))
            if kind == 'wheel' and path not in chain:
                self.visited.append(path)
                dep = ELFFile(path)
                self._visit(dep, dep.needed, chain + (elf.path,), preload_ok)
                if in_wheel and preload_ok:
                    self.load_order.append(path)

    def _visit_dlopened(self):
        for path in list(self.visited):
            pattern = DLOPENED.get(os.path.basename(path))
            if pattern:
                names = sorted(os.path.basename(p) for p in
                               glob.glob(os.path.join(os.path.dirname(path), pattern)))
                self._visit(ELFFile(path), names, (), False, how='dlopen()ed by')

    @property
    def missing(self):
        return [(name, by, path) for name, by, kind, path in self.rows if kind == 'missing']

    def cuda_build(self):
        """True when the root needs the CUDA runtime: a CUDA build of MXNet."""
        return any(n.startswith('libcudart.so') for n in self.needed)


def preload(paths):
    """``ctypes.CDLL(path, RTLD_GLOBAL)`` for each path in order; returns the handles."""
    return [ctypes.CDLL(p, mode=ctypes.RTLD_GLOBAL) for p in paths]


def find_libmxnet():
    """The ``libmxnet.so`` that ``import mxnet`` would load, found without importing mxnet."""
    env = os.environ.get('MXNET_LIBRARY_PATH')
    if env:
        return env
    spec = importlib.util.find_spec('mxnet')
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], 'libmxnet.so')
    return path if os.path.isfile(path) else None


# ---- the import hook ------------------------------------------------------------------------

PRELOADED = []  # what the hook loaded, for `gluon-notes doctor`


class _PreloadOnImport(importlib.abc.MetaPathFinder):
    """Preloads the CUDA wheel libraries the first time anything imports mxnet, then leaves."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition('.')[0] != 'mxnet':
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        # mxnet-cu117 was compiled against cuDNN 8.5.0 and warns on every run that the pinned
        # 8.9.6 differs; cuDNN 8 minor releases keep the ABI, so the mismatch is deliberate.
        os.environ.setdefault('MXNET_CUDNN_LIB_CHECKING', '0')
        try:
            lib = find_libmxnet()
            dirs = wheel_lib_dirs()
            if lib and dirs:
                res = Resolution(lib, dirs, follow_dlopen=False)
                PRELOADED.extend(res.load_order)
                preload(res.load_order)
                missing = [n for n, _, _ in res.missing if wheel_for(n)]
                if missing:
                    print('gluon-notes: %s not found in the nvidia wheels (%s); run: python '
                          'tools/gpu_libs.py check' % (', '.join(missing), ', '.join(dirs)),
                          file=sys.stderr)
                if any(n in DRIVER_LIBS for n in res.needed):
                    _explain_missing_driver()
        except (OSError, ELFError) as e:
            # An import hook must never break the import: mxnet's own error will name the library.
            print('gluon-notes: could not preload the CUDA libraries: %s' % e, file=sys.stderr)
        return None


def _explain_missing_driver():
    # mxnet's own error would only say "libcuda.so.1: cannot open shared object file".
    for name in DRIVER_LIBS:
        try:
            ctypes.CDLL(name)
        except OSError:
            print('gluon-notes: %s is not on this machine: only the NVIDIA driver provides it, and '
                  'a CUDA build of MXNet cannot be imported without it; without a GPU, use the '
                  'CPU environment (.venv)' % name, file=sys.stderr)


def install_import_hook():
    """Put the preloading finder first on ``sys.meta_path`` (what the ``.pth`` file runs)."""
    if os.environ.get(DISABLE_ENV) == '0':
        return
    if not any(isinstance(f, _PreloadOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PreloadOnImport())


def install_hook_files(site_packages):
    """Copy this file into ``site_packages`` as the hook module and write its ``.pth``."""
    shutil.copyfile(os.path.abspath(__file__), os.path.join(site_packages, HOOK_MODULE + '.py'))
    with open(os.path.join(site_packages, HOOK_MODULE + '.pth'), 'w') as f:
        # site.py executes .pth lines that start with "import"; this one only adds a finder.
        f.write('import %s; %s.install_import_hook()\n' % (HOOK_MODULE, HOOK_MODULE))
    return [os.path.join(site_packages, HOOK_MODULE + ext) for ext in ('.py', '.pth')]


# ---- fatbinaries ----------------------------------------------------------------------------

def fatbin_archs(path):
    """``{'sass': {arch: count}, 'ptx': {arch: count}}`` of the CUDA fatbinaries embedded in the
    ELF file ``path`` (its ``.nv_fatbin`` section); arch is the SM number, e.g. 86."""
    elf = ELFFile(path)
    found = {'sass': {}, 'ptx': {}}
    where = elf.section('.nv_fatbin')
    if where is None:
        return found
    offset, size = where
    with open(path, 'rb') as f:
        at, end = offset, offset + size
        while at + 16 <= end:
            f.seek(at)
            magic, _, header_size, fat_size = struct.unpack('<IHHQ', f.read(16))
            if magic != _FATBIN_MAGIC:
                at += 8  # containers are 8-byte aligned, with padding between them
                continue
            entry, last = at + header_size, at + header_size + fat_size
            while entry + 32 <= last:
                f.seek(entry)
                head = f.read(32)
                kind, _, entry_header, payload = struct.unpack_from('<HHIQ', head)
                (arch,) = struct.unpack_from('<I', head, 28)
                key = {_FATBIN_SASS: 'sass', _FATBIN_PTX: 'ptx'}.get(kind)
                if key:
                    found[key][arch] = found[key].get(arch, 0) + 1
                if entry_header == 0:
                    break
                entry += entry_header + payload
            at = last
    return found


def describe_archs(found):
    """``SASS sm_50 sm_86; PTX none`` for ``fatbin_archs``' result."""
    def names(prefix, d):
        return ' '.join('%s_%d' % (prefix, a) for a in sorted(d)) or 'none'
    return 'SASS %s; PTX %s' % (names('sm', found['sass']), names('compute', found['ptx']))


# ---- command line ---------------------------------------------------------------------------

def check(lib, wheel_dirs, system, load=True, out=print):
    """Print where every library ``lib`` needs resolves; returns the exit status (0 or 1)."""
    res = Resolution(lib, wheel_dirs, system)
    # libmxnet.so sits in site-packages/mxnet: wheel paths are shown relative to site-packages.
    site = os.path.dirname(os.path.dirname(os.path.abspath(lib)))
    out('%s (paths of wheel files relative to %s)' % (lib, site))
    if not res.cuda_build():
        out('error: this libmxnet.so needs no CUDA runtime: it is the CPU build (pip package '
            'mxnet); the GPU environment needs mxnet-cu117, see requirements-gpu.txt')
        return 1
    width = max(len(r[0]) for r in res.rows)
    for name, by, kind, path in res.rows:
        if kind == 'driver':
            path = path or 'not on this machine: the NVIDIA driver provides it'
        elif kind == 'wheel' and path.startswith(site + os.sep):
            path = os.path.relpath(path, site)
        elif kind == 'missing':
            package = wheel_for(name)
            path = ('MISSING' + (' (install %s)' % package if package else '')
                    + ('; the loader would take the system\'s %s instead' % path if path else ''))
        out('  %-*s  %-7s %s  (%s)' % (width, name, kind, path, by))
    missing = res.missing
    if missing:
        out('error: %d missing: %s' % (len(missing), ', '.join(
            '%s (%s)' % (n, by) for n, by, _ in missing)))
        return 1
    if load:
        try:
            preload(res.load_order)
        except OSError as e:
            out('error: loading the wheel libraries failed: %s' % e)
            return 1
        out('loaded %d wheel libraries with RTLD_GLOBAL, dependencies first, as importing mxnet '
            'does' % len(res.load_order))
    drivers = [r for r in res.rows if r[2] == 'driver']
    out('OK: every library %s needs resolves%s' % (os.path.basename(lib), (
        ', except the driver\'s %s' % ', '.join(r[0] for r in drivers if not r[3]))
        if any(not r[3] for r in drivers) else ''))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog='gpu_libs.py', description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('check', help='every library libmxnet.so needs resolves (but the driver\'s)')
    p.add_argument('--lib', help='the library to check (default: the installed libmxnet.so)')
    p.add_argument('--wheel-dir', action='append', default=None, metavar='DIR',
                   help='a directory of wheel libraries (default: nvidia/*/lib on sys.path)')
    p.add_argument('--no-load', dest='load', action='store_false',
                   help='only resolve, do not load the libraries')
    p = sub.add_parser('install-hook', help='install the preloading import hook')
    p.add_argument('--site-packages', default=sysconfig.get_paths()['purelib'])
    p = sub.add_parser('archs', help='GPU architectures with SASS / PTX in a library')
    p.add_argument('lib', nargs='?', help='default: the installed libmxnet.so')
    args = parser.parse_args(argv)
    # The hook (installed in this Python or not) must not preload while the check looks for mxnet.
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != '_PreloadOnImport']
    if args.command == 'install-hook':
        for path in install_hook_files(args.site_packages):
            print('wrote', path)
        return 0
    lib = getattr(args, 'lib', None) or find_libmxnet()
    if lib is None or not os.path.isfile(lib):
        print('error: %s' % ('no such file: %s' % lib if lib else
                             'mxnet is not installed in this Python (%s)' % sys.executable),
              file=sys.stderr)
        return 1
    try:
        if args.command == 'archs':
            print('%s: %s' % (lib, describe_archs(fatbin_archs(lib))))
            return 0
        dirs = args.wheel_dir if args.wheel_dir is not None else wheel_lib_dirs()
        return check(lib, dirs, system_libraries(), load=args.load)
    except ELFError as e:
        print('error: %s' % e, file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
