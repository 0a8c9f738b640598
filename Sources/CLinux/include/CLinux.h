#ifndef CLINUX_H
#define CLINUX_H
// Header-only shim: what Swift's Glibc module does not export.
#endif
