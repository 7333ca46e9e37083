"""debian"""
