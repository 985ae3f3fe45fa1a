// Package workload is what the robustness suite's worker processes do, one
// workload per primitive and one for the command, through fairlock's public
// API only (the packages fairlock, fairmutex, rwmutex, semaphore, election
// and queue, and the fairlock command as built): each worker connects with
// its process name as identity, takes holds in a loop, does fenced work
// under them, and writes down everything it asked and was answered.
//
// Specs is the list of workloads; a new one is one more Spec here and one
// more checker in package check. The tenants workload's workers each run
// one tenant's callers (queue.WithTenant), each on a session of its own.
package workload
