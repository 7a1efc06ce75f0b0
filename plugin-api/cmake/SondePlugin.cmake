# The out-of-tree plugin author's entry point, loaded by
# find_package(sonde CONFIG REQUIRED).
include(${CMAKE_CURRENT_LIST_DIR}/SondePluginProperties.cmake)

# sonde_add_plugin(<name> SOURCES src... [LIBRARIES lib...] [INSTALL])
# Builds the plugin <name>.so as the MODULE target <name>, linked with the
# SDK (sonde::plugin_api) and LIBRARIES, with the flags every sonde plugin
# needs. INSTALL adds an install rule to sonde's plugin directory
# (SONDE_PLUGIN_INSTALL_DIR, relative to the install prefix).
function(sonde_add_plugin name)
  cmake_parse_arguments(ARG "INSTALL" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "sonde_add_plugin(${name}): no SOURCES")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE sonde::plugin_api ${ARG_LIBRARIES})
  set_target_properties(${name} PROPERTIES OUTPUT_NAME ${name})
  sonde_plugin_module_properties(${name} ${SONDE_PLUGIN_EXPORTS_MAP})
  if(ARG_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION ${SONDE_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
