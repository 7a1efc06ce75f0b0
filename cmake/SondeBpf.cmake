# eBPF build support: vmlinux.h from the build machine's BTF, BPF objects
# compiled with clang, libbpf skeletons from bpftool. SONDE_WITH_BPF=OFF
# builds without any of it (the eBPF plugins are then skipped).
option(SONDE_WITH_BPF "Build the eBPF tracer plugins (needs clang, bpftool, libbpf)" ON)
if(NOT SONDE_WITH_BPF)
  return()
endif()

find_program(SONDE_BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(SONDE_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
find_program(SONDE_LLVM_STRIP NAMES llvm-strip llvm-strip-14 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf>=1.0)

set(SONDE_BTF_SOURCE /sys/kernel/btf/vmlinux CACHE FILEPATH "Kernel BTF to generate vmlinux.h from")
if(NOT EXISTS ${SONDE_BTF_SOURCE})
  message(FATAL_ERROR "${SONDE_BTF_SOURCE} not found: build on a kernel with BTF, or configure with -DSONDE_WITH_BPF=OFF")
endif()

set(SONDE_BPF_INCLUDE_DIR ${CMAKE_BINARY_DIR}/bpf)
add_custom_command(
  OUTPUT ${SONDE_BPF_INCLUDE_DIR}/vmlinux.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${SONDE_BPF_INCLUDE_DIR}
  COMMAND ${SONDE_BPFTOOL} btf dump file ${SONDE_BTF_SOURCE} format c > ${SONDE_BPF_INCLUDE_DIR}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${SONDE_BTF_SOURCE}"
  VERBATIM)
add_custom_target(sonde_vmlinux_h DEPENDS ${SONDE_BPF_INCLUDE_DIR}/vmlinux.h)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(SONDE_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(SONDE_BPF_ARCH arm64)
else()
  set(SONDE_BPF_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

# sonde_bpf_skeleton(<target> <name> <file.bpf.c> [HEADERS h...]): compiles
# the BPF program and generates <name>.skel.h into the target's include path.
function(sonde_bpf_skeleton target name source)
  cmake_parse_arguments(ARG "" "" "HEADERS" ${ARGN})
  list(TRANSFORM ARG_HEADERS PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  # The C headers shared between BPF programs and their plugins (common/ebpf/).
  file(GLOB shared_headers ${PROJECT_SOURCE_DIR}/common/ebpf/*.h)
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/bpf)
  set(object ${dir}/${name}.bpf.o)
  set(skeleton ${dir}/${name}.skel.h)
  get_filename_component(source_abs ${source} ABSOLUTE)
  get_filename_component(source_dir ${source_abs} DIRECTORY)
  add_custom_command(
    OUTPUT ${skeleton}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${SONDE_BPF_CLANG} -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_${SONDE_BPF_ARCH}
            -I${SONDE_BPF_INCLUDE_DIR} -I${PROJECT_SOURCE_DIR}/common -I${source_dir} -c ${source_abs} -o ${object}
    # DWARF off (-g), BTF kept: CO-RE needs only .BTF/.BTF.ext, and the object
    # is embedded in the plugin (a quarter of the size).
    COMMAND ${SONDE_LLVM_STRIP} -g ${object}
    COMMAND ${SONDE_BPFTOOL} gen skeleton ${object} name ${name} > ${skeleton}
    DEPENDS ${source_abs} ${ARG_HEADERS} ${shared_headers} ${SONDE_BPF_INCLUDE_DIR}/vmlinux.h
    COMMENT "BPF skeleton ${name}"
    VERBATIM)
  add_custom_target(${target}_skeleton DEPENDS ${skeleton})
  add_dependencies(${target} ${target}_skeleton)
  target_include_directories(${target} PRIVATE ${dir})
endfunction()

# sonde_add_bpf_plugin(<name> SOURCES ... BPF <file.bpf.c> [HEADERS ...]):
# an input plugin with one BPF program, its skeleton `<name>_bpf.skel.h`.
function(sonde_add_bpf_plugin name)
  cmake_parse_arguments(ARG "" "BPF" "SOURCES;HEADERS" ${ARGN})
  sonde_add_plugin(${name} SOURCES ${ARG_SOURCES} LIBRARIES PkgConfig::LIBBPF)
  if(ARG_BPF)
    sonde_bpf_skeleton(sonde_${name} ${name}_bpf ${ARG_BPF} HEADERS ${ARG_HEADERS})
  endif()
endfunction()
