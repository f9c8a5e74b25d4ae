# The interactive page's stylesheet and script (src/html/page.css, page.js) are plain asset
# files; at build time they become html_assets.hpp, two char arrays that src/html.cpp writes
# into the page. Editing an asset rebuilds the header and the page code.
set(RETROGRAD_HTML_ASSETS ${PROJECT_SOURCE_DIR}/src/html/page.css ${PROJECT_SOURCE_DIR}/src/html/page.js)
set(RETROGRAD_HTML_HEADER ${PROJECT_BINARY_DIR}/generated/html_assets.hpp)
add_custom_command(OUTPUT ${RETROGRAD_HTML_HEADER}
  COMMAND ${CMAKE_COMMAND} -DOUTPUT=${RETROGRAD_HTML_HEADER}
    -DSTYLE=${PROJECT_SOURCE_DIR}/src/html/page.css -DSCRIPT=${PROJECT_SOURCE_DIR}/src/html/page.js
    -P ${PROJECT_SOURCE_DIR}/cmake/embed_html_assets.cmake
  DEPENDS ${RETROGRAD_HTML_ASSETS} ${PROJECT_SOURCE_DIR}/cmake/embed_html_assets.cmake
  COMMENT "Embedding the page's CSS and JavaScript")
target_sources(retrograd_core PRIVATE ${RETROGRAD_HTML_HEADER})
target_include_directories(retrograd_core PRIVATE ${PROJECT_BINARY_DIR}/generated)
