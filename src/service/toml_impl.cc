// The one compiled copy of toml++ for this library. Debian's libtomlplusplus.so is
// built with exceptions (namespace toml::ex); this library uses toml++ without them
// (TOML_EXCEPTIONS=0, toml::noex), so it compiles the implementation here instead of
// linking that library. The definitions come from this target's CMakeLists.txt.
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
