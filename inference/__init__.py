"""hccbayes.inference"""
