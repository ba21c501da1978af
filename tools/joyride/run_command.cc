#include "run_command.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace joyride::tool {
namespace {

// The program execvp would run: CMD itself when it has a '/', else the first
// executable of that name on PATH.
std::string resolve(const std::string& cmd) {
  if (cmd.find('/') != std::string::npos) return cmd;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    dirs.remove_prefix(colon == std::string_view::npos ? dirs.size() : colon + 1);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + cmd;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// What kind of executable `file` is, as far as interposition goes.
enum class Kind { kDynamic, kStatic, kGo, kNotElf };

Kind classify(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Kind::kNotElf;
  struct stat st {};
  std::vector<unsigned char> bytes;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    // Headers, program headers and section headers sit in the first pages or at the
    // end; read the whole file only when it is small enough to be cheap.
    const size_t n = static_cast<size_t>(std::min<off_t>(st.st_size, 64 << 20));
    bytes.resize(n);
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(fd, bytes.data() + got, n - got, static_cast<off_t>(got));
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    bytes.resize(got);
  }
  ::close(fd);
  if (bytes.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0 ||
      bytes[EI_CLASS] != ELFCLASS64)
    return Kind::kNotElf;  // a script: its interpreter is what runs, and is checked by the loader
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  bool interp = false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    const uint64_t off = eh.e_phoff + uint64_t{i} * eh.e_phentsize;
    if (off + sizeof(Elf64_Phdr) > bytes.size()) break;
    Elf64_Phdr ph;
    std::memcpy(&ph, bytes.data() + off, sizeof ph);
    if (ph.p_type == PT_INTERP) interp = true;
  }
  // Go's linker writes a .go.buildinfo section; its runtime makes system calls
  // directly, so libc interposition never sees its sockets.
  static constexpr std::string_view kGoSection = ".go.buildinfo";
  if (eh.e_shoff != 0 && eh.e_shstrndx < eh.e_shnum) {
    const uint64_t stroff = eh.e_shoff + uint64_t{eh.e_shstrndx} * eh.e_shentsize;
    if (stroff + sizeof(Elf64_Shdr) <= bytes.size()) {
      Elf64_Shdr strtab;
      std::memcpy(&strtab, bytes.data() + stroff, sizeof strtab);
      for (unsigned i = 0; i < eh.e_shnum; ++i) {
        const uint64_t off = eh.e_shoff + uint64_t{i} * eh.e_shentsize;
        if (off + sizeof(Elf64_Shdr) > bytes.size()) break;
        Elf64_Shdr sh;
        std::memcpy(&sh, bytes.data() + off, sizeof sh);
        const uint64_t name = strtab.sh_offset + sh.sh_name;
        if (name + kGoSection.size() < bytes.size() &&
            std::memcmp(bytes.data() + name, kGoSection.data(), kGoSection.size() + 1) == 0)
          return Kind::kGo;
      }
    }
  }
  return interp ? Kind::kDynamic : Kind::kStatic;
}

// libjoyride_preload.so: $JOYRIDE_PRELOAD, else beside this binary in the build tree
// (tools/joyride/ -> src/preload/), else the installed location.
std::string find_preload() {
  if (const char* p = std::getenv("JOYRIDE_PRELOAD"); p != nullptr && *p != '\0') return p;
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    std::string dir(self);
    dir.resize(dir.rfind('/'));
    for (const char* rel : {"/../../src/preload/libjoyride_preload.so", "/../lib/joyride/libjoyride_preload.so"}) {
      const std::string candidate = dir + rel;
      if (::access(candidate.c_str(), R_OK) == 0) return candidate;
    }
  }
  return {};
}

int run_usage() {
  std::fprintf(stderr, "usage: joyride run [--service PATH] [--] CMD [ARGS...]\n");
  return 2;
}

}  // namespace

int run_command(int argc, char** argv, const char* default_service) {
  std::string service = default_service;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--service" && i + 1 < argc) {
      service = argv[++i];
    } else if (a == "--") {
      ++i;
      break;
    } else if (a.starts_with("-")) {
      return run_usage();
    } else {
      break;
    }
  }
  if (i >= argc) return run_usage();
  const std::string program = resolve(argv[i]);
  if (program.empty()) {
    std::fprintf(stderr, "joyride run: %s: command not found\n", argv[i]);
    return 127;
  }
  switch (classify(program)) {
    case Kind::kStatic:
      std::fprintf(stderr,
                   "joyride run: %s is statically linked: the preload library cannot interpose its socket calls, "
                   "so it would use the kernel's stack; not run\n",
                   program.c_str());
      return 2;
    case Kind::kGo:
      std::fprintf(stderr,
                   "joyride run: %s is a Go program: it makes system calls directly, so the preload library "
                   "never sees its sockets and it would use the kernel's stack; not run\n",
                   program.c_str());
      return 2;
    default:
      break;
  }
  const std::string preload = find_preload();
  if (preload.empty()) {
    std::fprintf(stderr, "joyride run: cannot find libjoyride_preload.so (set JOYRIDE_PRELOAD)\n");
    return 2;
  }
  std::string ld = preload;
  if (const char* old = std::getenv("LD_PRELOAD"); old != nullptr && *old != '\0') ld += std::string(":") + old;
  ::setenv("LD_PRELOAD", ld.c_str(), 1);
  ::setenv("JOYRIDE_SERVICE", service.c_str(), 1);
  ::execv(program.c_str(), argv + i);
  std::fprintf(stderr, "joyride run: %s: %s\n", program.c_str(), std::strerror(errno));
  return 126;
}

}  // namespace joyride::tool
