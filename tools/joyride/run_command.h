// `joyride run [--service PATH] [--] CMD [ARGS...]`: runs an unmodified, dynamically
// linked program over Joyride by putting libjoyride_preload.so in LD_PRELOAD and the
// service's socket path in JOYRIDE_SERVICE, then exec'ing it (same pid, same network
// namespace, same everything else). Programs the preload cannot interpose are
// refused with a message instead of silently running on the kernel: statically
// linked executables (no ELF interpreter) and Go programs (raw system calls).
#pragma once

namespace joyride::tool {

// argv[0] is "run"; returns only on failure (exit status).
int run_command(int argc, char** argv, const char* default_service);

}  // namespace joyride::tool
