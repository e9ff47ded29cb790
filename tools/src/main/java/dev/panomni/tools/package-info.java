/** The binding generator (libclang through FFM), runtime-image packaging and converters. */
package dev.panomni.tools;
