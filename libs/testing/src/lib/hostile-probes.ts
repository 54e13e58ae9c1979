/**
 * Python helpers of the channel-isolation probes (hostile e2e H26, the runtime integration spec):
 * `check` raises the errno of a failed libc call, `vm_read` reads another process's memory with
 * process_vm_readv, and `attempt(what, fn)` prints `what DONE` or `what <errno name>`. The program
 * imports ctypes, errno and os before them.
 */
export const PROBE_HELPERS: readonly string[] = [
  'libc = ctypes.CDLL(None, use_errno=True)',
  'class Iovec(ctypes.Structure):',
  '    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]',
  'def check(result):',
  '    if result == -1:',
  '        raise OSError(ctypes.get_errno(), "")',
  'def vm_read(pid):',
  '    buf = ctypes.create_string_buffer(64)',
  '    local, remote = Iovec(ctypes.addressof(buf), 64), Iovec(0x400000, 64)',
  '    check(libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0))',
  'def attempt(what, fn):',
  '    try:',
  '        fn()',
  '        print(what, "DONE")',
  '    except OSError as e:',
  '        print(what, errno.errorcode[e.errno])',
];
