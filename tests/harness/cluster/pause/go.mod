module shortlink.test/harness/cluster/pause

go 1.25.0
