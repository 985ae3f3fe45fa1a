package queue

// For the table tests of the pure logic, in package queue_test.
var (
	EncodeYield         = encodeYield
	DecodeYield         = decodeYield
	AttachYieldRequests = attachYieldRequests
)
