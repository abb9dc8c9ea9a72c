//go:build !race

package command

// raceSlowdown scales time limits: the race detector slows parsing tenfold
// and more.
const raceSlowdown = 1
