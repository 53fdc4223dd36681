//! Tests of the MP4 reader.
