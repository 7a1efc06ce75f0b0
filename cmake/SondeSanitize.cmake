# SONDE_SANITIZE=ON builds every target of the project (agent, core library,
# plugin and sink modules, ABI test plugins, tests, benchmarks) with
# AddressSanitizer + UndefinedBehaviorSanitizer, any report fatal.
# scripts/test-sanitized.sh builds build-asan/ with it and runs the suite.
#
# With g++ the sanitizer runtimes are shared libraries (libasan, libubsan):
# each dlopen'ed module records them as DT_NEEDED, so -Wl,--no-undefined
# still holds, and the one runtime the agent loaded first serves them all.
option(SONDE_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer (reports are fatal)" OFF)

# Where each test's sanitizer reports land: <dir>/<test>.<asan|ubsan>.<pid>
# (see sonde_add_test), so a report from a child process is not lost.
set(SONDE_SANITIZER_REPORT_DIR ${CMAKE_BINARY_DIR}/sanitizer-reports)

if(SONDE_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    message(WARNING "SONDE_SANITIZE is tested with g++ only")
  endif()
  # float-cast-overflow is not part of -fsanitize=undefined in GCC; a double
  # out of range of the integer it is converted to is exactly the kind of
  # time/size overflow this build is meant to catch.
  # vptr is left out: UBSan checks an object's dynamic type by probing its
  # vtable through a pipe (sanitizer_common's IsAccessibleMemoryRange); out of
  # file descriptors, which the prometheus tests bring about on purpose, that
  # probe fails and the next virtual call of a Boost.System error category
  # aborts with "invalid vptr". ASan still catches a call through a freed object.
  set(SONDE_SANITIZER_FLAGS
    -fsanitize=address,undefined,float-cast-overflow -fno-sanitize=vptr -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  add_compile_options(${SONDE_SANITIZER_FLAGS})
  add_link_options(${SONDE_SANITIZER_FLAGS})
  # The instrumentation makes g++'s -Wmaybe-uninitialized report false
  # positives (seen in Boost.Beast's basic_parser, content_length_unchecked,
  # compiled into the otlp sink); the normal build keeps the warning fatal.
  add_compile_options(-Wno-maybe-uninitialized)
endif()
