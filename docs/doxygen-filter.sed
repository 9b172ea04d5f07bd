# SPDX-License-Identifier: MIT
# doxygen-filter.sed - Doxygen's INPUT_FILTER for include/mproc.h: turns its
# plain C comments into documentation comments without touching the file.
# Section banners ("/* ----- name */") stay ordinary comments.
/^\/\* -/b
# The license line stays an ordinary comment.
/SPDX-License-Identifier/b
# The file comment (after the license line) documents the file.
2s|^/\*$|/** \\file|
# A comment inside a parameter list stays a comment.
/\*\/)/b
# A comment after code on the same line documents that declaration.
s|\([^[:space:]/][[:space:]]*\)/\* |\1/**< |
# A comment that starts a line documents what follows it.
s|^\([[:space:]]*\)/\* |\1/** |
