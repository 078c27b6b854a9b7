# Warnings and sanitizers as INTERFACE targets, linked only into our own targets.
add_library(portline_warnings INTERFACE)
target_compile_options(portline_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wimplicit-fallthrough -Wno-missing-field-initializers
  $<$<BOOL:${PORTLINE_WERROR}>:-Werror>)

add_library(portline_sanitizers INTERFACE)
if(PORTLINE_SANITIZE)
  string(REPLACE ";" "," _portline_san "${PORTLINE_SANITIZE}")
  target_compile_options(portline_sanitizers INTERFACE
    -fsanitize=${_portline_san} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(portline_sanitizers INTERFACE -fsanitize=${_portline_san})
endif()
if(PORTLINE_FUZZ)
  # Coverage for the fuzzer in every module a target links; the target adds the fuzzer's main.
  target_compile_options(portline_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
endif()

# portline_module(NAME SOURCES ... [LIBS ...]): one static library per module, alias portline::NAME.
function(portline_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  add_library(portline_${name} STATIC ${ARG_SOURCES})
  add_library(portline::${name} ALIAS portline_${name})
  target_include_directories(portline_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(portline_${name}
    PUBLIC ${ARG_PUBLIC_LIBS} portline_sanitizers
    PRIVATE ${ARG_PRIVATE_LIBS} portline_warnings)
  portline_record_layer(${name} "${ARG_SOURCES}" "${ARG_PUBLIC_LIBS}" "${ARG_PRIVATE_LIBS}")
endfunction()

# portline_record_layer(NAME SOURCES PUBLIC PRIVATE): remembers a module's folder, sources and
# links for scripts/check_layers.py, which the build runs on every change (target `layering`):
# a module may include only itself and what it links, its headers only what it links PUBLIC.
function(portline_record_layer name sources public private)
  string(REPLACE ";" "," sources "${sources}")
  string(REPLACE ";" "," public "${public}")
  string(REPLACE ";" "," private "${private}")
  set_property(GLOBAL APPEND PROPERTY PORTLINE_LAYERS
    "${name}|${CMAKE_CURRENT_SOURCE_DIR}|${sources}|${public}|${private}")
endfunction()

# portline_check_layers(): writes the recorded modules to layers.txt and adds the `layering`
# target (part of ALL), so a wrong include fails the build, not a review.
function(portline_check_layers)
  get_property(layers GLOBAL PROPERTY PORTLINE_LAYERS)
  list(JOIN layers "\n" text)
  file(WRITE ${CMAKE_BINARY_DIR}/layers.txt "${text}\n")
  file(GLOB_RECURSE checked CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/*.cpp
    ${PROJECT_SOURCE_DIR}/src/*.hpp)
  set(stamp ${CMAKE_BINARY_DIR}/layering.stamp)
  add_custom_command(OUTPUT ${stamp}
    COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/check_layers.py
            ${CMAKE_BINARY_DIR}/layers.txt ${PROJECT_SOURCE_DIR}/src
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${checked} ${CMAKE_BINARY_DIR}/layers.txt ${PROJECT_SOURCE_DIR}/scripts/check_layers.py
    COMMENT "Checking module layering"
    VERBATIM)
  add_custom_target(layering ALL DEPENDS ${stamp})
endfunction()

# portline_add_test(NAME SOURCES ... LIBS ... LABEL unit|integration|pg|e2e)
function(portline_add_test name)
  cmake_parse_arguments(ARG "" "LABEL" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main
    portline_warnings portline_sanitizers)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  include(GoogleTest)
  gtest_discover_tests(${name} PROPERTIES LABELS ${ARG_LABEL} DISCOVERY_TIMEOUT 60)
endfunction()

# portline_embed(OUT VAR FILE...): generate a .cpp that defines
# `extern const std::string_view VAR[]` style accessors for files, at build time.
function(portline_embed out_cpp symbol)
  set(files ${ARGN})
  string(REPLACE ";" "|" joined "${files}")
  add_custom_command(
    OUTPUT ${out_cpp}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_cpp} -DSYMBOL=${symbol} "-DFILES=${joined}"
            -P ${PROJECT_SOURCE_DIR}/cmake/Embed.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/Embed.cmake
    COMMENT "Embedding ${symbol}"
    VERBATIM)
endfunction()
