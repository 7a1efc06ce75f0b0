# sonde_plugin_module_properties(<target> <exports.map>): what makes a MODULE
# library a sonde plugin, shared by the in-tree build and the installed SDK
# (sondeConfig.cmake): C++20, hidden visibility, only the ABI entry points
# exported (the version script), no undefined symbols left for the host to
# resolve, no "lib" prefix.
function(sonde_plugin_module_properties target exports_map)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(${target} PRIVATE cxx_std_20)
  target_link_options(${target} PRIVATE -Wl,--no-undefined -Wl,--version-script=${exports_map})
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${exports_map})
endfunction()
