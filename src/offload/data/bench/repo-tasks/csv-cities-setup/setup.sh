#!/bin/sh
# Generates the task's data file in the starting repository (runs once, before the first commit).
set -eu
mkdir -p data
printf 'name,lat,lon\n' > data/cities.csv
printf '%s\n' 'Oslo,59.91,10.75' 'Munich,48.14,11.58' 'Lisbon,38.72,-9.14' \
    'Sydney,-33.87,151.21' 'Nairobi,-1.29,36.82' 'Lima,-12.05,-77.04' >> data/cities.csv
