/** JMH benchmarks and end-to-end throughput runs, with the PyTorch scripts they are compared against. */
package dev.panomni.bench;
