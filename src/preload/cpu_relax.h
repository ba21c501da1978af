// The pause of a spin-wait (x86 PAUSE, Arm YIELD): tells the core, and a hyperthread
// sibling, that this loop only polls memory.
#pragma once

namespace joyride::preload {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace joyride::preload
