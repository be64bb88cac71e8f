# Shared build helpers: every target in the tree goes through these, so C++20, warnings-as-errors and the
# sanitizer switches are applied in exactly one place.
include_guard(GLOBAL)

function(emtiaz_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror
                         -Wno-error=deprecated-declarations)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

# emtiaz_add_library(<name> SOURCES ... DEPS ...) -> target emtiaz_<name>, alias emtiaz::<name>
function(emtiaz_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_SOURCES)
    # A folder whose first sources are still being written: keep the target (and its dependents) valid.
    set(ARG_SOURCES ${CMAKE_CURRENT_BINARY_DIR}/empty_${name}.cpp)
    file(WRITE ${ARG_SOURCES} "// no sources yet\n")
  endif()
  add_library(emtiaz_${name} STATIC ${ARG_SOURCES})
  add_library(emtiaz::${name} ALIAS emtiaz_${name})
  emtiaz_target_defaults(emtiaz_${name})
  target_link_libraries(emtiaz_${name} PUBLIC ${ARG_DEPS})
endfunction()

# emtiaz_add_executable(<binary-name> SOURCES ... DEPS ...)
function(emtiaz_add_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  emtiaz_target_defaults(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()

# emtiaz_add_test(<name> LABEL unit|integration SOURCES ... DEPS ... [TIMEOUT s])
# unit: no server at all. integration: real MariaDB, Redis and the dev broker, started by scripts/test.sh,
# whose addresses arrive in EMTIAZ_TEST_* environment variables.
function(emtiaz_add_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  emtiaz_target_defaults(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  add_test(NAME ${name} COMMAND ${name} --gtest_color=no)
  set_tests_properties(${name} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT})
endfunction()
