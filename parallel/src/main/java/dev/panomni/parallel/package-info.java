/** Communicators, device meshes, parallel plans, FSDP, expert and sequence parallelism, launch. */
package dev.panomni.parallel;
