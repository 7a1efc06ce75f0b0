# Fuzz targets for the parsers of outside input (docs/fuzzing.md).
#
# SONDE_FUZZ=ON (a clang build of its own, configured by scripts/fuzz.sh):
# every target is a libFuzzer binary built with
# -fsanitize=fuzzer,address,undefined, the parser sources compiled into it
# with the same instrumentation. The target `sonde_fuzz` builds them all and
# nothing else; ${CMAKE_BINARY_DIR}/fuzz/targets.tsv lists, per line, the
# target's name, its binary, its dictionary (or "-") and its corpus paths
# (tab-separated), for scripts/fuzz.sh.
#
# SONDE_FUZZ=OFF (the normal build, with tests): every target is instead
# linked with tests/fuzz/replay_main.cpp, a main() that feeds each file of its
# corpus to LLVMFuzzerTestOneInput, and registered with ctest as
# fuzz_replay_<name>: every seed and every crash found (kept in the corpus)
# is a plain regression test.
option(SONDE_FUZZ "Build the libFuzzer targets (needs clang: CC=clang CXX=clang++)" OFF)

set(SONDE_FUZZ_MANIFEST ${CMAKE_BINARY_DIR}/fuzz/targets.tsv)
set(SONDE_FUZZ_SUPPORT_DIR ${CMAKE_CURRENT_LIST_DIR}/../tests/fuzz)
cmake_path(NORMAL_PATH SONDE_FUZZ_SUPPORT_DIR)

if(SONDE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SONDE_FUZZ needs clang (configure with CC=clang CXX=clang++); have ${CMAKE_CXX_COMPILER_ID}")
  endif()
  add_custom_target(sonde_fuzz)
  file(WRITE ${SONDE_FUZZ_MANIFEST} "")
  # _FORTIFY_SOURCE's __*_chk functions are not intercepted by
  # AddressSanitizer: the fuzz build goes without them, ASan checking instead.
  get_target_property(project_options sonde_project_flags INTERFACE_COMPILE_OPTIONS)
  list(REMOVE_ITEM project_options -D_FORTIFY_SOURCE=2)
  set_target_properties(sonde_project_flags PROPERTIES INTERFACE_COMPILE_OPTIONS "${project_options}")
endif()

# sonde_add_fuzz_target(<name> SOURCES ... [LIBRARIES ...] [CORPUS path...]
#                       [DICTIONARY file])
# <name> is <what it parses>_fuzz; SOURCES hold the file defining
# LLVMFuzzerTestOneInput plus the parser sources it exercises. CORPUS lists
# seed files or directories (test fixtures); fuzz/corpus/<name>/ beside the
# caller's CMakeLists.txt is added when it exists, and is where reproducers
# of fixed findings are kept.
function(sonde_add_fuzz_target name)
  cmake_parse_arguments(ARG "" "DICTIONARY" "SOURCES;LIBRARIES;CORPUS" ${ARGN})
  if(NOT SONDE_FUZZ AND NOT SONDE_BUILD_TESTS)
    return()
  endif()
  set(corpus ${ARG_CORPUS})
  if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${name})
    list(APPEND corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${name})
  endif()
  # A warning, not an error, so that a target being written does not stop
  # everyone's configure; its replay test fails until it has a corpus.
  if(NOT corpus)
    message(WARNING "fuzz target ${name}: no CORPUS and no fuzz/corpus/${name}/")
  endif()
  foreach(path IN LISTS corpus)
    if(NOT EXISTS ${path})
      message(WARNING "fuzz target ${name}: corpus path ${path} does not exist")
    endif()
  endforeach()

  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE sonde::internal sonde_project_flags ${ARG_LIBRARIES})
  target_include_directories(${name} PRIVATE ${SONDE_FUZZ_SUPPORT_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)

  if(SONDE_FUZZ)
    set(sanitizers -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    # Assertions on (ours and the libraries' headers, e.g. Beast's): a broken
    # invariant is a finding too.
    target_compile_options(${name} PRIVATE ${sanitizers} -UNDEBUG)
    target_link_options(${name} PRIVATE ${sanitizers})
    add_dependencies(sonde_fuzz ${name})
    set(dictionary "-")
    if(ARG_DICTIONARY)
      set(dictionary ${ARG_DICTIONARY})
    endif()
    list(JOIN corpus "\t" corpus_columns)
    file(APPEND ${SONDE_FUZZ_MANIFEST} "${name}\t${CMAKE_BINARY_DIR}/fuzz/${name}\t${dictionary}\t${corpus_columns}\n")
  else()
    target_sources(${name} PRIVATE ${SONDE_FUZZ_SUPPORT_DIR}/replay_main.cpp)
    add_test(NAME fuzz_replay_${name} COMMAND ${name} ${corpus})
    set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS fuzz TIMEOUT 300)
  endif()
endfunction()
