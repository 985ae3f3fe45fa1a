// Package history is what the robustness suite's processes write down, and
// reads it back: JSON lines, one record a line, each stamped with the wall
// clock in nanoseconds since the epoch. Every process runs on one machine,
// so their stamps share one clock.
//
// Workers write Records (what they asked and what fairlock answered), the
// runner writes Faults (what it did to whom, and when) and Events (every
// change etcd made under the suite's prefix, from a watch of its own: etcd's
// record, against which the workers' claims are checked).
//
// A file cut short by a killed process is read up to its last whole line.
package history
