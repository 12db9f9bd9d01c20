# Warning and sanitizer flags applied to every hardwire target through hardwire_options.
add_library(hardwire_options INTERFACE)
target_compile_options(hardwire_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unknown-pragmas>)
if(HARDWIRE_SANITIZE)
  target_compile_options(hardwire_options INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined>)
  target_link_options(hardwire_options INTERFACE -fsanitize=address,undefined)
endif()
