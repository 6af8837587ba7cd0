package chusme

// SafetyNumberMessage exposes safetyNumberMessage to the golden vector test.
var SafetyNumberMessage = safetyNumberMessage
