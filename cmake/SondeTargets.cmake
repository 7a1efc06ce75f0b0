# Build conventions shared by every sonde target.

# Flags for code of this project: warnings are errors, hardening on.
add_library(sonde_project_flags INTERFACE)
target_compile_options(sonde_project_flags INTERFACE
  -Wall -Wextra -Wpedantic -Werror -Wno-missing-field-initializers
  -fstack-protector-strong)
# _FORTIFY_SOURCE swaps memcpy, read, sprintf... for __*_chk variants that
# AddressSanitizer does not intercept, hiding the very overflows it looks
# for (and g++ warns that the two do not mix): the sanitized build goes
# without it, the checks being ASan's.
if(NOT SONDE_SANITIZE)
  target_compile_options(sonde_project_flags INTERFACE -D_FORTIFY_SOURCE=2)
endif()
target_link_options(sonde_project_flags INTERFACE -Wl,-z,relro,-z,now)

# Where plugin shared objects land in the build tree; `sonde` looks here by
# default. Installed, plugins and the packages' default configuration live
# under the prefix (relative destinations, so `cmake --install --prefix P`
# puts everything under P; sonde finds them from its own location).
set(SONDE_BUILD_PLUGIN_DIR ${CMAKE_BINARY_DIR}/plugins)
set(SONDE_INSTALL_PLUGIN_DIR ${CMAKE_INSTALL_LIBDIR}/sonde/plugins)
set(SONDE_INSTALL_VENDOR_CONF_DIR ${CMAKE_INSTALL_DATADIR}/sonde/conf.d)
include(${PROJECT_SOURCE_DIR}/plugin-api/cmake/SondePluginProperties.cmake)

# sonde_add_plugin(<name> SOURCES ... [LIBRARIES ...] [PACKAGE core]): one
# MODULE library per plugin or sink (target sonde_<name>, file <name>.so),
# built as the installed SDK builds a third party's (SondePluginProperties),
# plus the project's flags and internal headers. Its own package,
# sonde-plugin-<name> or sonde-sink-<name> (after the folder it is in),
# holds the object and its part of the shipped configuration,
# conf.d/NN-<name>.toml; PACKAGE core puts both in the sonde package instead.
function(sonde_add_plugin name)
  cmake_parse_arguments(ARG "" "PACKAGE" "SOURCES;LIBRARIES" ${ARGN})
  add_library(sonde_${name} MODULE ${ARG_SOURCES})
  target_link_libraries(sonde_${name} PRIVATE sonde::plugin_api sonde::internal sonde_project_flags ${ARG_LIBRARIES})
  sonde_plugin_module_properties(sonde_${name} ${SONDE_PLUGIN_EXPORTS_MAP})
  set_target_properties(sonde_${name} PROPERTIES OUTPUT_NAME "${name}" LIBRARY_OUTPUT_DIRECTORY ${SONDE_BUILD_PLUGIN_DIR})
  if(ARG_PACKAGE)
    set(component ${ARG_PACKAGE})
  else()
    get_filename_component(folder ${CMAKE_CURRENT_SOURCE_DIR} DIRECTORY)
    get_filename_component(folder ${folder} NAME)  # plugins or sinks
    string(REGEX REPLACE "s$" "" kind ${folder})
    set(component ${kind}_${name})
    set_property(GLOBAL APPEND PROPERTY SONDE_PACKAGE_COMPONENTS ${component})
    set_property(GLOBAL PROPERTY SONDE_PACKAGE_${component}_NAME sonde-${kind}-${name})
    set_property(GLOBAL PROPERTY SONDE_PACKAGE_${component}_README ${CMAKE_CURRENT_SOURCE_DIR}/README.md)
  endif()
  install(TARGETS sonde_${name} LIBRARY DESTINATION ${SONDE_INSTALL_PLUGIN_DIR} COMPONENT ${component})
  file(GLOB conf ${PROJECT_SOURCE_DIR}/conf.d/[0-9][0-9]-${name}.toml)
  if(conf)
    install(FILES ${conf} DESTINATION ${SONDE_INSTALL_VENDOR_CONF_DIR} COMPONENT ${component})
  endif()
endfunction()

# sonde_add_test(<name> SOURCES ... [LIBRARIES ...] [LABELS ...]): a doctest
# executable registered with ctest.
function(sonde_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE sonde_doctest_main sonde::internal sonde_project_flags ${ARG_LIBRARIES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  add_test(NAME ${name} COMMAND ${name})
  # Exit code 77: skipped (tests/support/bpf_available.hpp), never "passed".
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300 SKIP_RETURN_CODE 77)
  if(SONDE_SANITIZE)
    # ASan and LSan reports of this test and of every process it starts (the
    # agent) go to files named after the test; scripts/test-sanitized.sh
    # fails on any. g++'s UBSan runtime ignores log_path next to ASan: its
    # reports halt the process and go to stderr, where the test's output or
    # the agent harness (tests/support/agent_process.hpp) catches them.
    # Sanitized code runs two to three times slower: a longer timeout.
    set_tests_properties(${name} PROPERTIES TIMEOUT 900 ENVIRONMENT_MODIFICATION
      "ASAN_OPTIONS=string_append::log_path=${SONDE_SANITIZER_REPORT_DIR}/${name}.asan;UBSAN_OPTIONS=string_append::log_path=${SONDE_SANITIZER_REPORT_DIR}/${name}.ubsan")
  endif()
endfunction()

# Adds the selected folders of plugins/ or sinks/ ("all" = every folder).
function(sonde_add_selected kind selection)
  file(GLOB candidates RELATIVE ${CMAKE_SOURCE_DIR}/${kind} ${CMAKE_SOURCE_DIR}/${kind}/*/CMakeLists.txt)
  list(TRANSFORM candidates REPLACE "/CMakeLists.txt$" "")
  if(selection STREQUAL "all")
    set(selection ${candidates})
  endif()
  foreach(name IN LISTS selection)
    if(NOT name IN_LIST candidates)
      message(FATAL_ERROR "${kind}/${name} does not exist (have: ${candidates})")
    endif()
    add_subdirectory(${kind}/${name})
  endforeach()
endfunction()

# sonde_add_agent_test(<test> SOURCES ... PLUGINS name... [LIBRARIES ...]
# [LABELS ...]): a test that drives the real `sonde` binary
# (tests/support/agent_process.hpp) with these plugins of this build.
function(sonde_add_agent_test test)
  cmake_parse_arguments(ARG "" "" "SOURCES;PLUGINS;LIBRARIES;LABELS" ${ARGN})
  sonde_add_test(${test} SOURCES ${ARG_SOURCES} LIBRARIES nlohmann_json::nlohmann_json ${ARG_LIBRARIES}
    LABELS ${ARG_LABELS})
  target_compile_definitions(${test} PRIVATE
    SONDE_BINARY="$<TARGET_FILE:sonde>" SONDE_PLUGIN_DIR="${SONDE_BUILD_PLUGIN_DIR}"
    SONDE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  list(TRANSFORM ARG_PLUGINS PREPEND sonde_)
  add_dependencies(${test} sonde ${ARG_PLUGINS})
endfunction()
