package main

import "time"

// githubDeliveryRetention is how long GitHub keeps an App's webhook
// deliveries for listing and redelivery.
const githubDeliveryRetention = 72 * time.Hour
